"""The run engine: a sans-IO RunMachine per execution segment, driven by thin drivers."""
