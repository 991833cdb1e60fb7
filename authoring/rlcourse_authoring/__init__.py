"""The author's package: the course's notebooks made and run (never imported by a notebook).

:mod:`.build` writes notebooks/ (student versions) from solutions/, :mod:`.execute` runs a
solution in place so that nbval has its outputs, :mod:`.lab` keeps the learner's my-notebooks/
and starts JupyterLab (``make lab``).
"""
