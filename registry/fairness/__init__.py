"""Fairness: who a version treats differently, by the groups of its sensitive inputs.

``groups`` turns a sensitive input's values into groups (binning numbers), ``figures`` computes
each group's figures with fairlearn's ``MetricFrame``, ``recourse`` measures how hard it is
for each group to change its answer, ``services`` marks inputs sensitive and names the
favourable answer, ``selectors`` reads the report, ``tasks`` runs recourse on the worker.
"""
