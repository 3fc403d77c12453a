"""Django URLconf: one pattern; the shared router (:mod:`multicloud.api.routes`) picks the route."""

from django.urls import re_path

from multicloud.api import django_views
from multicloud.api.routes import ROUTER

urlpatterns = [re_path(r"", django_views.view_for(ROUTER), name="api")]

handler400 = django_views.bad_request
handler404 = django_views.not_found
handler500 = django_views.server_error
