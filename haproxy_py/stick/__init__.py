"""Stick tables (HAProxy 2.6's stick-table, track-sc, stick on/match/store): pure.

:mod:`.freq` the period rate counter, :mod:`.table` the table itself, :mod:`.config` the
``stick-table`` line, :mod:`.cli` the ``show/clear/set table`` commands. Dates are milliseconds
given by the caller.
"""
