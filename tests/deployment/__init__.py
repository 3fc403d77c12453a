"""Scale-out: the service deployed as several replicas on a real (namespaced) network,
with HAProxy in front, the machine's PostgreSQL and RabbitMQ and the OpenStack sandbox.

``make test-deployment`` runs it alone (and writes the figures to bench/DEPLOYMENT.md);
the PostgreSQL pass of ``make test`` runs it too (tools/run-tests.sh).
"""
