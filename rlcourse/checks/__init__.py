"""Exercise checks: one module per notebook, each exposing ``check_<exercise>(student_fn)``.

A check runs the student's function on several inputs, compares it with the reference, and when
it is wrong says why in words (the sign is flipped, only the chosen logit gets gradient, ...).
The machinery they share lives in :mod:`rlcourse.checks.feedback`.
"""
