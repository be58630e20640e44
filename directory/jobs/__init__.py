"""The three questions the directory exists to answer, computed from facts the store already
filtered for the viewer: partners for a local group (`partners`), coverage gaps for a donor
(`gaps`), and referral paths for an INGO (`referrals`). `rules` holds the thresholds they share.
"""
