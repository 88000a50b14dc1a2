"""The two ways the probe itself can fail, mapped to exit codes by the CLI."""


class ProbeError(Exception):
    """Base for errors that end a run with one clear line."""


class UsageError(ProbeError):
    """Bad input from the user: a missing or malformed scenario, a bad option (exit 2)."""


class InfraError(ProbeError):
    """The probe's own machinery failed: no browser, the mock did not start (exit 3)."""
