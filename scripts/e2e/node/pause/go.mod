module kubetee.local/pause

// The pod sandbox ("pause") binary of the real-kubelet e2e tier's local pause
// image (scripts/e2e/node/images.sh). Test tooling, not product code.
go 1.26.0
