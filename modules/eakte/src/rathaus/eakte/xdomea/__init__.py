"""xdomea 3.0.0 messages of the E-Akte: the common header, packaging and validation
(``kopf``, ``schema``) and the Aussonderung (``aussonderung``). The official XSDs are
vendored under ``schemes/`` (KoSIT, via the Landesarchiv Thüringen's xdomea_toolkit, MIT)."""
