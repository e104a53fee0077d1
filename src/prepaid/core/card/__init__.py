"""Card images: the logical model and the byte codec (layout: docs/card-format.md)."""
