"""digestbot core: commits in, analyses and digests out; no platform code here."""
