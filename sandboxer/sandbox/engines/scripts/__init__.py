"""Programs a data engine runs inside the sandbox's workspace (mounted read-only). Each is
self-contained (the engine's own driver and the standard library), since the workspace does not
have sandboxer installed; sandboxer also imports them for what they define once (the checksum)."""
