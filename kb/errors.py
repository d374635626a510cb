"""kb's errors. Library code raises these; only the CLI and the app turn them into text."""


class KBError(Exception):
    """Base class: something the user can act on (the message says what to do)."""


class LoadError(KBError):
    """A file could not be read as a document (unsupported, encrypted, empty, corrupt…)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ConfigError(KBError):
    """A setting has an invalid value."""


class ModelError(KBError):
    """The embedding model cannot be prepared or loaded, or fails its sanity probe."""


class IndexStateError(KBError):
    """The index folder is missing, corrupt, or was built with another model."""


class QueryError(KBError):
    """A search request is invalid (bad filter, unknown region, empty query…)."""


class WriterBusyError(IndexStateError):
    """Another process is writing the index (ingest, repair or rebuild) right now."""


class IndexDamagedError(IndexStateError):
    """A file of the index folder is unreadable or disagrees with the others."""

    def __init__(self, path: str, detail: str, next_step: str):
        super().__init__(f"{path} is damaged ({detail}); {next_step}")
        self.path = path
        self.detail = detail


class UploadError(KBError):
    """An uploaded file was refused before ingest (type, size, name, duplicate)."""
