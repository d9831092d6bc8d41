"""Files: taking uploads in, checking their content, STL analysis, blob stores."""
