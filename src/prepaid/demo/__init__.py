"""Demo data: a whole office history played through the real services (``prepaid demo``)."""
