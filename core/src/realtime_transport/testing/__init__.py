"""The transport conformance kit and test helpers (a pytest plugin via ``pytest11``)."""
