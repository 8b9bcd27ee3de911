module localtest/faults

go 1.25.0
