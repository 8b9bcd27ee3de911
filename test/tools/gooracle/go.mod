module localtest/gooracle

go 1.25.0
