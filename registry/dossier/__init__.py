"""The dossier: a version documented for a reviewer or a regulator, as a PDF."""
