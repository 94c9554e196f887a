"""pytest plugin entry point for the conformance kit (fixtures are added by the kit)."""
