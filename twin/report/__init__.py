"""Reports of runs, comparisons, sweeps and optimiser runs: text for the terminal, figures and one HTML file."""
