module chanemu/bench/go

go 1.19
