// Unbuffered channel ping-pong between two goroutines, the reference
// ucoro.go's pingpong-go is compared with (run with GOMAXPROCS=1):
//   GOMAXPROCS=1 go run bench/go_pingpong.go [N]
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	a, b := make(chan int), make(chan int)
	go func() {
		for i := 0; i < n; i++ {
			a <- <-b
		}
	}()
	t := time.Now()
	for i := 0; i < n; i++ {
		b <- i
		<-a
	}
	fmt.Printf("pingpong-golang %7.3f us per op\n", float64(time.Since(t).Nanoseconds())/float64(n)/1e3)
}
