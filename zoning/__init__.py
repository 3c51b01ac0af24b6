"""zoning: propose school attendance zones.

Census block groups (or any small planning units) are grouped into one zone per school by an
integer program that balances school capacity, travel time over the road network and each
zone's low-income share. Every proposal is checked independently, measured, mapped and exported.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
