"""What a model, LoRA or UNet reference names: a local path, or an id on the Hugging Face Hub.

Its own module so that the loader and the fast paths, which both resolve references, import it
without importing each other."""

from __future__ import annotations

from pathlib import Path


def is_local_reference(reference: str) -> bool:
    """A path (absolute, relative or ~) or anything that exists on disk; else a hub id."""
    return reference.startswith(("/", "./", "../", "~")) or Path(reference).expanduser().exists()
