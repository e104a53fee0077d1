"""The office's own date and time formats, over Django's per-language ones
(``FORMAT_MODULE_PATH``): only what differs is defined, the rest comes from Django."""
