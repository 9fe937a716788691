"""The ground floor: a course's paths and settings, atomic writes, safe file reads, nbgrader cells, running
nbgrader, loading an assignment's kit. Imports nothing else of the kit."""
