"""
Physics of the home-energy twin: pure, deterministic, vectorised numpy functions.

Nothing in this package imports Django, Celery or Redis, reads the clock, settings,
a database or global random state. Time arrives as an argument (aware UTC
``datetime`` or ``numpy.datetime64``); the same inputs give bit-identical outputs in
every process. ``simulators.physics.tick.population_tick`` steps a whole population for one tick.
"""
