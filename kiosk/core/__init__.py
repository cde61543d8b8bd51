"""The pure core: loyalty rules, events and card identity.

Nothing in here reads a clock, a file, a socket or a pin; `now` is always passed in.
"""
