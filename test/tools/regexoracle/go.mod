module localtest/regexoracle

go 1.25.0
