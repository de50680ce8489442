"""reclaim: investigate, contain and remediate a compromised Microsoft 365 account and mailbox."""

__version__ = "0.1.0"
