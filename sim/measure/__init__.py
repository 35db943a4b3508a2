"""What a run means: the KPIs computed from one run, and the one registry of
metric names, labels, units, kinds and ranges every table, plot and page reads.
"""
