"""The scripted model: which reply each response gets, and the synthesized voice."""
