// The wire format lives here.
