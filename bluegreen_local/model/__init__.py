"""Value types shared by every layer: slots, releases, results, errors."""
