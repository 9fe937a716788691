"""What the kit keeps and hands on: stored results, grades.csv, the report, the LMS import file, lateness,
students' deadlines, stored similarity flags. Imports core and plugins."""
