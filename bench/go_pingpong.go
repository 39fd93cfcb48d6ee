// Unbuffered channel ping-pong between two goroutines, the reference
// ucoro.go's pingpong-go is compared with (run with GOMAXPROCS=1):
//   GOMAXPROCS=1 go run bench/go_pingpong.go [N]
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// The process's CPU time (user + system), as os.clock gives Lua's: on a
// machine shared with other work, wall time counts their time too.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
	t, c := time.Now(), cpu()
	for i := 0; i < n; i++ {
		b <- i
		<-a
	}
	fmt.Printf("pingpong-golang %7.3f us per op (CPU), %.3f (wall)\n",
		float64((cpu()-c).Nanoseconds())/float64(n)/1e3,
		float64(time.Since(t).Nanoseconds())/float64(n)/1e3)
}
