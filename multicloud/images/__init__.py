"""Image service: upload image files through Multicloud to a cloud's Glance, download them back."""
