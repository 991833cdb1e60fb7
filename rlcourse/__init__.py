"""rlcourse: the helper package of the REINFORCE course.

Importing it has no side effects. Import the module you need by namespace, e.g.
``from rlcourse import returns`` then ``returns.discounted_returns(...)``.
"""

__version__ = "0.1.0"
