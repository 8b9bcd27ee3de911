module localtest/unicodegen

go 1.25.0
