"""The platform's reusable Pulumi components and the typed config they are built from."""
