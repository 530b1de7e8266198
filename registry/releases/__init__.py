"""Governed releases: four-eyes promotions, a shadow version answering in the background, a
canary answering a share of the calls, and how each compares with the champion."""
