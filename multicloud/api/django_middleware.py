"""Django middleware of the django mode: ONAP ids and request metrics (multicloud/observe.py)."""

from __future__ import annotations

from multicloud import observe


class ObserveMiddleware:
    """Every request: take or make its ids, count it, answer with the ids."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        observation = observe.begin_environ(request.META)
        try:
            response = self.get_response(request)
            route = request.META.get(observe.ROUTE_KEY)
            for name, value in observation.finish(route, request.method, response.status_code):
                response[name] = value
            return response
        finally:
            observation.close()
