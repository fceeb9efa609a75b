package sscd_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/sscard/ssc/sscd"
)

// Read the card in the first reader that holds one, making sure the answer
// is about that very card.
func Example() {
	c := sscd.Dial(sscd.DefaultSocket)
	defer c.Close()
	ctx := context.Background()
	readers, err := c.Readers(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range readers {
		if !r.CardPresent {
			continue
		}
		info, err := c.Info(ctx, r.Name, sscd.InfoOptions{CardOptions: sscd.CardOptions{Insertion: r.Insertion}})
		switch {
		case errors.Is(err, sscd.ErrCardChanged):
			fmt.Println("the card was swapped; read again")
		case errors.Is(err, sscd.ErrNeedsHSM):
			fmt.Println("configure an HSM in sscd, or use HSMStep1/HSMStep2")
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(info.Name, info.CardNumber)
		}
		return
	}
}

// The HSM two-step read when the application talks to the HSM itself.
func ExampleClient_HSMStep1() {
	c := sscd.Dial("")
	ctx := context.Background()
	st, err := c.HSMStep1(ctx, "Virtual PCD 00 00", sscd.HSMStep1Options{})
	if err != nil {
		log.Fatal(err)
	}
	result := askHSM(st.Step1) // "RESULT1|RESULT2|"
	info, err := c.HSMStep2(ctx, st.Session, result)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.SSN)
}

func askHSM(step1 string) string { return step1 }

// Follow readers and cards.
func ExampleClient_Events() {
	c := sscd.Dial("")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	es, err := c.Events(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer es.Close()
	for {
		ev, err := es.Next()
		if err != nil {
			return
		}
		switch ev.Type {
		case sscd.EventSnapshot:
			fmt.Println(len(ev.Readers), "readers")
		case sscd.EventCardInserted:
			fmt.Println("card in", ev.Reader, "insertion", ev.Insertion)
		}
	}
}

// Verify the PIN typed into the application (it travels over the local
// socket only); the daemon resets the card right after.
func ExampleClient_VerifyPIN() {
	c := sscd.Dial("")
	_, err := c.VerifyPIN(context.Background(), "sim", sscd.VerifyPINRequest{PIN: "123456"}, sscd.CardOptions{})
	var e *sscd.Error
	if errors.As(err, &e) && e.Code == sscd.CodeWrongPIN {
		fmt.Println("wrong PIN, SW", e.SW)
	}
}
