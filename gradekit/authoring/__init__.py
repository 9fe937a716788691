"""The instructor's tools that build submissions: from the reference, mutants, correct variants, the
strength measurement, damage and disguise galleries. Imports every layer below it."""
