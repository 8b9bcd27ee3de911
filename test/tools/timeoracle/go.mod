module localtest/timeoracle

go 1.25.0
