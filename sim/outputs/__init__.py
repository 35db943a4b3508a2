"""Files, figures and pages: atomic writes, run and experiment folders, terminal
tables, the plots, the HTML report and the animation.
"""
