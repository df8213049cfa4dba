"""`make bench`: the service's speed on this machine, under production settings."""
