"""Topic trends: which words and phrases rise in complaints, suggestions and text feeds."""
