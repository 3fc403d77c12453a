"""The VIO typed API: flavors, servers, networks, subnets, ports, volumes, hosts, limits."""
