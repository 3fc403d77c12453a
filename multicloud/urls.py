"""Django URLconf, generated from :mod:`multicloud.api.routes`."""

from django.urls import re_path

from multicloud.api import django_views
from multicloud.api.routes import ROUTES

urlpatterns = [
    re_path(route.regex, django_views.view_for(route), name=route.name) for route in ROUTES
]

handler400 = django_views.bad_request
handler404 = django_views.not_found
handler500 = django_views.server_error
