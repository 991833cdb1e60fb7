"""The instructor's package: grade a class's submissions (never imported by a notebook).

By job: :mod:`.course` (the course notebooks, matching and merging with nbgrader),
:mod:`.sandbox` (bubblewrap and resource limits), :mod:`.kernel` (the graded kernel and its
guard), :mod:`.kernel_client` (starting and talking to that kernel), :mod:`.runner` (running one
submission's cells), :mod:`.judging` (a test cell's score and feedback), :mod:`.report` (what
grading one submission found), :mod:`.screen` (flags for a human to review),
:mod:`.gradebook` (results on disk, shards, the CSV and feedback files), :mod:`.grade` (the
command).
"""
